"""Backbones, each registered once here (see registry.py). Importing this package does not import
torch; `emozsl.models.build` builds them."""

from emozsl.models.registry import (
    EMOTION_MAPS,
    HEAD_DEFAULTS,
    HEADS,
    REGISTRY,
    SIMILARITIES,
    Backbone,
    get_backbone,
    register,
    resolve_options,
)

register(Backbone("eea", "emozsl.models.eea:EmoEmbs", "Dai et al., AACL 2020 (EmoEmbs)", unaligned=True))
register(Backbone("ef_lstm", "emozsl.models.lstm_fusion:EFLSTM", "EF-LSTM baseline (EmoEmbs repository)",
                  unaligned=False))
register(Backbone("lf_lstm", "emozsl.models.lstm_fusion:LFLSTM", "LF-LSTM baseline (EmoEmbs repository)",
                  unaligned=True))
register(Backbone("ef_lf_lstm", "emozsl.models.lstm_fusion:EFLFLSTM", "EF-LF-LSTM baseline (EmoEmbs repository)",
                  unaligned=False))
register(Backbone("transformer_ef", "emozsl.models.transformer_fusion:TransformerEF",
                  "Transformer, early fusion (EmoEmbs repository)", unaligned=False))
register(Backbone("transformer_lf", "emozsl.models.transformer_fusion:TransformerLF",
                  "Transformer, late fusion (EmoEmbs repository)", unaligned=True))
register(Backbone("mult", "emozsl.models.mult:MulT", "Tsai et al., ACL 2019 (MulT)", unaligned=True))
register(Backbone("lmr_cbt", "emozsl.models.lmr_cbt:LMRCBT", "LMR-CBT (seed 000)", unaligned=True))
register(Backbone("lfmim", "emozsl.models.lfmim:LFMIM", "Sun et al., ACL 2023 (LFMIM, CHERMA)", unaligned=True))
register(Backbone("self_attn", "emozsl.models.attention_gru:SelfAttentionGRU",
                  "Rajan et al., ICASSP 2022 (self-attention)", unaligned=True))
register(Backbone("cross_attn", "emozsl.models.attention_gru:CrossAttentionGRU",
                  "Rajan et al., ICASSP 2022 (cross-attention)", unaligned=True))
# End to end from raw media: an epoch decodes nothing (the cache) but runs CNNs over every chunk and
# frame, so these get 20 epochs unless a run sets its own.
register(Backbone("fe2e", "emozsl.models.fe2e:FE2E", "Dai et al., NAACL 2021 (FE2E, raw media)", unaligned=True,
                  inputs="raw", epochs=20))
register(Backbone("mesm", "emozsl.models.mesm:MESM", "Dai et al., NAACL 2021 (MESM, raw media)", unaligned=True,
                  inputs="raw", fractions=("top_p",), epochs=20))

__all__ = ["EMOTION_MAPS", "HEADS", "HEAD_DEFAULTS", "REGISTRY", "SIMILARITIES", "Backbone", "get_backbone",
           "register", "resolve_options"]
