"""PyTorch backend: differentiable information measures and infomorphic layers (the only module needing torch)."""
