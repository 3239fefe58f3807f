"""postag.export: training, evaluation and export of the tagger (needs torch)."""
