"""Learning backends: ``pidlearn.backends.numpy`` (local rules, no torch) and ``pidlearn.backends.torch``.

Each backend is imported only when asked for, so ``import pidlearn`` never pulls torch.
"""
