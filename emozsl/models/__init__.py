"""Backbones, each registered once here; see registry.py."""

from emozsl.models.attention_gru import CrossAttentionGRU, SelfAttentionGRU
from emozsl.models.eea import EmoEmbs
from emozsl.models.lfmim import LFMIM
from emozsl.models.lmr_cbt import LMRCBT
from emozsl.models.lstm_fusion import EFLFLSTM, EFLSTM, LFLSTM
from emozsl.models.mult import MulT
from emozsl.models.registry import (
                                    HEAD_DEFAULTS,
                                    REGISTRY,
                                    Backbone,
                                    build_model,
                                    get_backbone,
                                    register,
                                    resolve_options,
)
from emozsl.models.transformer_fusion import TransformerEF, TransformerLF

register(Backbone("eea", EmoEmbs, "Dai et al., AACL 2020 (EmoEmbs)", unaligned=True))
register(Backbone("ef_lstm", EFLSTM, "EF-LSTM baseline (EmoEmbs repository)", unaligned=False))
register(Backbone("lf_lstm", LFLSTM, "LF-LSTM baseline (EmoEmbs repository)", unaligned=True))
register(Backbone("ef_lf_lstm", EFLFLSTM, "EF-LF-LSTM baseline (EmoEmbs repository)", unaligned=False))
register(Backbone("transformer_ef", TransformerEF, "Transformer, early fusion (EmoEmbs repository)", unaligned=False))
register(Backbone("transformer_lf", TransformerLF, "Transformer, late fusion (EmoEmbs repository)", unaligned=True))
register(Backbone("mult", MulT, "Tsai et al., ACL 2019 (MulT)", unaligned=True))
register(Backbone("lmr_cbt", LMRCBT, "LMR-CBT (seed 000)", unaligned=True))
register(Backbone("lfmim", LFMIM, "Sun et al., ACL 2023 (LFMIM, CHERMA)", unaligned=True))
register(Backbone("self_attn", SelfAttentionGRU, "Rajan et al., ICASSP 2022 (self-attention)", unaligned=True))
register(Backbone("cross_attn", CrossAttentionGRU, "Rajan et al., ICASSP 2022 (cross-attention)", unaligned=True))

__all__ = ["HEAD_DEFAULTS", "REGISTRY", "Backbone", "build_model", "get_backbone", "register", "resolve_options"]
