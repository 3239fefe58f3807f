"""Training: the model, its config and checkpoint, the trainer, prediction and scoring.

postag train                      # = python -c "from postag.export.train.trainer import train"
postag eval artifacts/checkpoints/default.pt dev
"""
