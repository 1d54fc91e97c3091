"""Model-from-code entry point that MLflow runs when it loads a cxml pyfunc model."""

from mlflow.models import set_model

from cxml.tracking.pyfunc import CxmlModel

set_model(CxmlModel())
