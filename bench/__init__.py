"""``make bench``: c2d's figures against a real ``c2d serve``, with baselines from the same run."""
