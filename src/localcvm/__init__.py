"""localcvm: a self-hosted Tencent Cloud CVM-style compute and image service."""

__version__ = "0.1.0"
