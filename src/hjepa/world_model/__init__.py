"""World model: predictors, the JEPA model, its regularizers and training objective."""
from .correction import EpisodicCorrection
from .jepa import JEPAWorldModel, ModelConfig
from .objective import JEPAObjective, LossConfig
from .predictor import PredictorConfig, ResidualMLPPredictor

__all__ = ["EpisodicCorrection", "JEPAWorldModel", "ModelConfig", "JEPAObjective", "LossConfig", "PredictorConfig", "ResidualMLPPredictor"]
