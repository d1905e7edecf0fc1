"""The Python SDK: the ``FeatureStore`` facade, pandas frames, a torch Dataset, a scikit-learn transformer."""
