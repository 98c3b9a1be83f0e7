"""The Parquet lake: workspace tables detection needs, written and read in one documented schema."""
