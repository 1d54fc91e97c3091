"""The labelling loop: pick the comments a model is least sure of, write them for an annotation
tool (Label Studio, Argilla) with the model's predictions, and read the annotations back."""
