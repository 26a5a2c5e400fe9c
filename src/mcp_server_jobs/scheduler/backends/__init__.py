"""The agent backends: the contract (`base`), one module per backend, trying them in order (`chain`), building
them from the settings (`factory`, which imports a backend's module only when it is built)."""
