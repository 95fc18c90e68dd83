# TSM-R50 8x1x1 on Kinetics-400 with the paper's recipe (Lin et al., ICCV
# 2019, "Training"): 100 epochs, SGD lr 0.01 for a batch of 64, x0.1 at
# epochs 40 and 80, no warm-up, weight decay 1e-4, dropout 0.5 (inherited);
# gradient norm clipped at 20 (inherited; the official main.py --gd 20).
# It differs from MMAction2's recipe (./tsm_r50_1x1x8_50e_kinetics400.py:
# 50 epochs, lr 0.02 for 8 GPUs x 16 = 128, 5-epoch warm-up, x0.1 at 25
# and 45) only in the schedule and the batch.
_base_ = './tsm_r50_1x1x8_50e_kinetics400.py'

# 64 in total: 8 GPUs x 8 clips. The lr is for 64; with another total,
# scale it (or set auto_scale_lr.enable=True)
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(enable=False, base_batch_size=64)

train_cfg = dict(max_epochs=100)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=100, by_epoch=True,
         milestones=[40, 80], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-4))
