"""The expert pool across rounds (issue 16 item 6): rule P1 专家库资格 (`standing`)."""
