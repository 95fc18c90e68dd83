# TSM-R50 8x1x1 on Something-Something V2 with the paper's halved schedule,
# as the official repo trains it (mit-han-lab/temporal-shift-module,
# README "Training": main.py something RGB --lr 0.01 --lr_steps 20 40
# --epochs 50 --batch-size 64 --dropout 0.5 --gd 20 --npb): 50 epochs, lr
# 0.01 for a batch of 64, x0.1 at epochs 20 and 40, no warm-up, weight
# decay 5e-4 (main.py's default: the script sets none), BN trained, and no
# flip (main.py: flip=False for 'something', whose labels name directions).
# MMAction2's recipe (./tsm_r50_1x1x8_50e_sthv2.py): lr 0.02 for 128, a
# 5-epoch warm-up, x0.1 at 25 and 45, flip with a label map.
_base_ = './tsm_r50_1x1x8_50e_sthv2.py'

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='MultiScaleCrop', input_size=224,
         scales=(1, 0.875, 0.75, 0.66), random_crop=False,
         max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs'),
]
# 64 in total: 8 GPUs x 8 clips (the lr is for 64)
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=64)

train_cfg = dict(max_epochs=50)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=50, by_epoch=True,
         milestones=[20, 40], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=5e-4))
