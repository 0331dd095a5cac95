"""The emotion heads and backbone-specific behaviour (LFMIM's stop-gradient, LMR-CBT's size)."""

import pytest
import torch

from emozsl.errors import EmozslError
from emozsl.models import EMOTION_MAPS, SIMILARITIES
from emozsl.models.build import build_model
from emozsl.models.summary import REFERENCE_DIMS, parameter_count
from tests.test_models import ALIGNED, DIMS, WORD_DIM, batch, emotions, ready


@pytest.mark.parametrize("similarity", SIMILARITIES)
@pytest.mark.parametrize("emotion_map", EMOTION_MAPS)
def test_embedding_head_options_score_new_emotions(similarity, emotion_map):
    torch.manual_seed(0)
    model = build_model("lf_lstm", DIMS, WORD_DIM, head={"similarity": similarity, "emotion_map": emotion_map}).eval()
    x, vectors = ready(batch(ALIGNED)), emotions(4)
    with torch.no_grad():
        three, four = model(x, vectors[:3]), model(x, vectors)
    assert torch.allclose(four[:, :3], three, atol=1e-5) and four[:, 3].abs().sum() > 0
    maps = model.head.maps["fused"]
    assert isinstance(maps, torch.nn.Linear) == (emotion_map == "linear")


def test_similarities_follow_their_definitions():
    torch.manual_seed(0)
    r, vectors = torch.randn(3, 8), emotions(4)
    cos = build_model("eea", {"text": 5}, WORD_DIM, head={"similarity": "cosine"}).head
    rep = {"text": r}
    expected = torch.nn.functional.cosine_similarity(r[:, None], vectors[None], dim=-1) * 10
    assert torch.allclose(cos(rep, vectors), expected, atol=1e-5)  # text: identity map; weight 1; scale 10
    dist = build_model("eea", {"text": 5}, WORD_DIM, head={"similarity": "neg-sq-distance"}).head
    expected = 1.0 - ((r[:, None] - vectors[None]) ** 2).sum(-1) / 8
    assert torch.allclose(dist(rep, vectors), expected, atol=1e-4)
    # the closer emotion always scores higher
    assert torch.equal(dist(rep, vectors).argmax(1), torch.cdist(r, vectors).argmin(1))


def test_linear_head_scores_trained_emotions_in_any_order_and_refuses_others():
    torch.manual_seed(0)
    trained = emotions(4)
    model = build_model("eea", DIMS, WORD_DIM, head={"head": "linear"}, trained_vectors=trained).eval()
    x = ready(batch(ALIGNED))
    with torch.no_grad():
        logits = model(x, trained)
        assert torch.allclose(model(x, trained[[2, 0]]), logits[:, [2, 0]])
        other = torch.cat([trained, emotions(5)[:1]])
        with pytest.raises(EmozslError, match="head=linear cannot score emotion.*position \\[4\\]"):
            model.check_emotions(other)  # before any step (scoring and training call it)
        # inside a step nothing is read on the host: an unknown emotion is NaN, never another's scores
        inside = model(x, other)
        assert torch.isnan(inside[:, 4]).all() and torch.equal(inside[:, :4], logits)
    with pytest.raises(EmozslError, match="head=linear needs the trained emotions' vectors"):
        build_model("eea", DIMS, WORD_DIM, head={"head": "linear"})


@pytest.mark.parametrize("option, value", [("head", "mlp"), ("similarity", "l1"), ("emotion_map", "deep")])
def test_unknown_head_choices_are_errors(option, value):
    with pytest.raises(EmozslError, match=f"{option}={value}: choose one of"):
        build_model("eea", DIMS, WORD_DIM, head={option: value})


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_lfmim_stop_gradient_keeps_unimodal_streams_out_of_the_multimodal_loss(stop_gradient):
    torch.manual_seed(0)
    model = build_model("lfmim", DIMS, WORD_DIM, {"stop_gradient": stop_gradient, "width": 16})
    outputs = model.outputs(ready(batch(ALIGNED)), emotions(3))
    assert set(outputs) == {"prediction", "text", "audio", "visual"}
    outputs["prediction"].sum().backward()
    unimodal = [p for n, p in model.backbone.named_parameters() if n.startswith("unimodal.text")]
    reached = any(p.grad is not None and p.grad.abs().sum() > 0 for p in unimodal)
    assert reached == (not stop_gradient)


def test_lmr_cbt_stays_near_its_041m_parameters():
    torch.manual_seed(0)
    model = build_model("lmr_cbt", REFERENCE_DIMS, 300)
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert abs(backbone - 406_523) / 406_523 < 0.01  # the original's count, less its 121-parameter output layer
    assert 0.40e6 < parameter_count("lmr_cbt") < 0.45e6  # with the 300-d emotion head


def test_mult_presets():
    iemocap = build_model("mult", DIMS, WORD_DIM, {"preset": "iemocap"})
    assert iemocap.backbone.cross["text_from_audio"].layers[0].attention.num_heads == 10
    with pytest.raises(EmozslError, match="model_options.preset=x: choose one of iemocap, mosei"):
        build_model("mult", DIMS, WORD_DIM, {"preset": "x"})
