"""World model: predictors, the JEPA model, its regularizers and training objective."""
from .jepa import JEPAWorldModel, ModelConfig
from .objective import JEPAObjective, LossConfig
from .predictor import PredictorConfig, ResidualMLPPredictor
from .correction import EpisodicCorrection  # noqa: E402  (after the model: it wraps one)

__all__ = ["EpisodicCorrection", "JEPAWorldModel", "ModelConfig", "JEPAObjective", "LossConfig", "PredictorConfig", "ResidualMLPPredictor"]
