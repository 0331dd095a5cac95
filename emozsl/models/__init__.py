"""Backbones, each registered once here; see registry.py."""

from emozsl.models.eea import EmoEmbs
from emozsl.models.registry import REGISTRY, Backbone, build_model, get_backbone, register, resolve_options

register(Backbone("eea", EmoEmbs, "Dai et al., AACL 2020 (EmoEmbs)", unaligned=True))

__all__ = ["REGISTRY", "Backbone", "build_model", "get_backbone", "register", "resolve_options"]
