"""World model: predictors, the JEPA model, its regularizers and training objective."""
from .jepa import JEPAWorldModel, ModelConfig
from .objective import JEPAObjective, LossConfig
from .predictor import PredictorConfig, ResidualMLPPredictor

__all__ = ["JEPAWorldModel", "ModelConfig", "JEPAObjective", "LossConfig", "PredictorConfig", "ResidualMLPPredictor"]
