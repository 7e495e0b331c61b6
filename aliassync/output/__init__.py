"""What a run shows and keeps: plan renderers, drift, saved plans, result files, progress, export."""
