# Fine-tune TSM R-50 on HMDB51 split 1 from a Kinetics-400 TSM checkpoint:
# the UCF101 fine-tuning recipe (25 epochs, lr 0.001 for 64, x0.1 at 10
# and 20, dropout 0.8, BN frozen but the first), which the official repo
# uses for both small datasets (README "Training": "fine-tune ... on other
# datasets"), with 51 classes and HMDB51's lists.
_base_ = './tsm_r50_1x1x8_ucf101_split1_ft_kinetics400.py'

model = dict(cls_head=dict(num_classes=51))

data_root = 'data/hmdb51/rawframes'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_rawframes.txt'
ann_file_val = 'data/hmdb51/hmdb51_val_split_1_rawframes.txt'

train_dataloader = dict(dataset=dict(
    ann_file=ann_file_train, data_prefix=dict(img=data_root)))
val_dataloader = dict(dataset=dict(
    ann_file=ann_file_val, data_prefix=dict(img=data_root)))
test_dataloader = dict(dataset=dict(
    ann_file=ann_file_val, data_prefix=dict(img=data_root)))
