"""Backbones, each registered once here with its options' kinds (see registry.py: `Backbone`, and
`BackboneModule`, the contract of what a factory returns, checked when one is registered and
built). Importing this package does not import torch; `emozsl.models.build` builds them."""

from emozsl.models.registry import (
    COUNT,
    COUNT0,
    EMOTION_MAPS,
    FLAG,
    FRACTION,
    HEAD_DEFAULTS,
    HEADS,
    PATH,
    POSITIVE,
    RATE,
    REGISTRY,
    SIMILARITIES,
    Backbone,
    BackboneModule,
    Kind,
    choice,
    get_backbone,
    register,
    resolve_options,
)

LSTM = {"hidden": COUNT, "layers": COUNT, "dropout": RATE}
TRANSFORMER = {"d": COUNT, "heads": COUNT, "layers": COUNT, "dropout": RATE,
               "pooling": choice("emozsl.models.layers:SEQUENCE_POOLINGS")}
ATTENTION_GRU = {"hidden": COUNT, "heads": COUNT, "text_dropout": RATE, "attn_dropout": RATE, "fused": COUNT}
END_TO_END = {"width": COUNT, "d": COUNT, "layers": COUNT, "heads": COUNT, "dropout": RATE, "text_model": PATH,
              "text_dim": COUNT, "text_layers": COUNT, "vocabulary": COUNT, "max_tokens": COUNT, "log_mel": FLAG}

register(Backbone("eea", "emozsl.models.eea:EmoEmbs", "Dai et al., AACL 2020 (EmoEmbs)", unaligned=True,
                  options={"audio_hidden": COUNT, "visual_hidden": COUNT, "layers": COUNT, "dropout": RATE,
                           "pooling": choice("emozsl.models.layers:POOLINGS")}))
register(Backbone("ef_lstm", "emozsl.models.lstm_fusion:EFLSTM", "EF-LSTM baseline (EmoEmbs repository)",
                  unaligned=False, options=LSTM))
register(Backbone("lf_lstm", "emozsl.models.lstm_fusion:LFLSTM", "LF-LSTM baseline (EmoEmbs repository)",
                  unaligned=True, options=LSTM))
register(Backbone("ef_lf_lstm", "emozsl.models.lstm_fusion:EFLFLSTM", "EF-LF-LSTM baseline (EmoEmbs repository)",
                  unaligned=False, options={**LSTM, "fused": COUNT}))
register(Backbone("transformer_ef", "emozsl.models.transformer_fusion:TransformerEF",
                  "Transformer, early fusion (EmoEmbs repository)", unaligned=False, options=TRANSFORMER))
register(Backbone("transformer_lf", "emozsl.models.transformer_fusion:TransformerLF",
                  "Transformer, late fusion (EmoEmbs repository)", unaligned=True, options=TRANSFORMER))
register(Backbone("mult", "emozsl.models.mult:MulT", "Tsai et al., ACL 2019 (MulT)", unaligned=True,
                  options={"preset": choice("emozsl.models.mult:PRESETS"), "d": COUNT}))
# d = 2 × text_hidden: the cross-modal gates mix the bidirectional text LSTM's steps with d-wide streams.
register(Backbone("lmr_cbt", "emozsl.models.lmr_cbt:LMRCBT", "LMR-CBT (seed 000)", unaligned=True,
                  options={"d": COUNT, "heads": COUNT, "layers": COUNT, "text_hidden": COUNT, "text_dropout": RATE,
                           "embed_dropout": RATE, "attn_dropout": RATE, "out_dropout": RATE}))
# tokens may be 0: the multimodal stream then holds the modality slots alone.
register(Backbone("lfmim", "emozsl.models.lfmim:LFMIM", "Sun et al., ACL 2023 (LFMIM, CHERMA)", unaligned=True,
                  options={"width": COUNT, "heads": COUNT, "stages": COUNT, "blocks_per_stage": COUNT,
                           "tokens": COUNT0, "dropout": RATE, "stop_gradient": FLAG}))
register(Backbone("self_attn", "emozsl.models.attention_gru:SelfAttentionGRU",
                  "Rajan et al., ICASSP 2022 (self-attention)", unaligned=True, options=ATTENTION_GRU))
register(Backbone("cross_attn", "emozsl.models.attention_gru:CrossAttentionGRU",
                  "Rajan et al., ICASSP 2022 (cross-attention)", unaligned=True, options=ATTENTION_GRU))
# End to end from raw media: an epoch decodes nothing (the cache) but runs CNNs over every chunk and
# frame, so these get 20 epochs unless a run sets its own.
register(Backbone("fe2e", "emozsl.models.fe2e:FE2E", "Dai et al., NAACL 2021 (FE2E, raw media)", unaligned=True,
                  options=END_TO_END, inputs="raw", epochs=20))
register(Backbone("mesm", "emozsl.models.mesm:MESM", "Dai et al., NAACL 2021 (MESM, raw media)", unaligned=True,
                  options={**END_TO_END, "top_p": FRACTION, "attention_dim": COUNT}, inputs="raw", epochs=20))

__all__ = ["COUNT", "COUNT0", "EMOTION_MAPS", "FLAG", "FRACTION", "HEADS", "HEAD_DEFAULTS", "PATH", "POSITIVE", "RATE",
           "REGISTRY", "SIMILARITIES", "Backbone", "BackboneModule", "Kind", "choice", "get_backbone", "register",
           "resolve_options"]
