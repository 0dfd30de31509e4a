"""Training the slot VAE: config, the explicit loop, checkpoints, logs and pictures."""

from genperc.training.config import TrainConfig
from genperc.training.train_vae import LoadedRun, TrainingError, TrainResult, load_run, resume_training, train

__all__ = ["TrainConfig", "train", "resume_training", "load_run", "LoadedRun", "TrainResult", "TrainingError"]
