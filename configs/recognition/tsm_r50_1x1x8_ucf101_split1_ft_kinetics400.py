# Fine-tune TSM R-50 on UCF101 split 1 from a Kinetics-400 TSM checkpoint
# with the paper's recipe, as the official repo runs it
# (mit-han-lab/temporal-shift-module, scripts/finetune_tsm_ucf101_rgb_8f.sh:
# main.py ucf101 RGB --lr 0.001 --lr_steps 10 20 --epochs 25
# --batch-size 64 --dropout 0.8 --gd 20 --tune_from=<Kinetics TSM>):
# 25 epochs, lr 0.001 for a batch of 64, x0.1 at epochs 10 and 20, weight
# decay 5e-4 (main.py's default), fc at 5x lr (main.py: fc_lr5 when the
# checkpoint is another dataset's), gradient norm clipped at 20, and
# BatchNorm frozen: without --npb main.py freezes every BN but the first
# (statistics and affine), which is MMAction2's ResNet(partial_bn=True).
_base_ = './tsm_r50_1x1x8_50e_kinetics400.py'

# the Kinetics-400 TSM checkpoint to start from (MMAction2's or tsm_mm's:
# TSMResNet loads both key layouts)
load_from = 'work_dirs/tsm_r50_1x1x8_50e_kinetics400/epoch_50.pth'

model = dict(
    backbone=dict(pretrained=None, partial_bn=True),
    cls_head=dict(num_classes=101, dropout_ratio=0.8))

dataset_type = 'RawframeDataset'
data_root = 'data/ucf101/rawframes'
ann_file_train = 'data/ucf101/ucf101_train_split_1_rawframes.txt'
ann_file_val = 'data/ucf101/ucf101_val_split_1_rawframes.txt'

train_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MultiScaleCrop', input_size=224,
         scales=(1, 0.875, 0.75, 0.66), random_crop=False,
         max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
         test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = val_pipeline

# 64 in total: 8 GPUs x 8 clips (the lr is for 64)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(type=dataset_type, ann_file=ann_file_train,
                 data_prefix=dict(img=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, ann_file=ann_file_val,
                 data_prefix=dict(img=data_root), pipeline=val_pipeline))
test_dataloader = dict(
    dataset=dict(type=dataset_type, ann_file=ann_file_val,
                 data_prefix=dict(img=data_root), pipeline=test_pipeline))

train_cfg = dict(max_epochs=25)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=25, by_epoch=True,
         milestones=[10, 20], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(lr=0.001, weight_decay=5e-4),
    paramwise_cfg=dict(fc_lr5=True))
auto_scale_lr = dict(enable=False, base_batch_size=64)
