"""The model every stage shares: the distribution, ids, pins, outcomes, the codec, errors."""
