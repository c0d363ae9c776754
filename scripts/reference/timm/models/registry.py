"""timm.models.registry stand-in: register_model is a no-op decorator here."""
def register_model(fn):
    return fn
