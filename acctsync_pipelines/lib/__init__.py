"""Plain Python (no Dagster imports): configuration, readers, SQL transforms, posting and targets."""
