"""Evaluation metrics: box statistics, object accuracy with an in-repo crop classifier, crop FID,
diversity, and (only with user-supplied weights) Inception Score / FID."""
