"""Aligned faces to emotions: architectures, the saved model (card, run folder, registry), the Predictor,
test-time views, the TFLite export and explanations."""
