"""The synthetic demo round: its generator and the whole-round demo pipeline."""
