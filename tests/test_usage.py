"""Unit tests: what a prediction made, used and cost."""

import pytest
from openai.types import ImagesResponse

from gpt_image.models import model_info
from gpt_image.usage import usage_log, usage_metrics


def response(images: int = 2, usage: dict | None = None) -> ImagesResponse:
    body = {
        "created": 0,
        "data": [{"b64_json": ""}] * images,
        "size": "1536x1024",
        "quality": "high",
        "output_format": "webp",
    }
    if usage is not None:
        body["usage"] = usage
    return ImagesResponse.model_validate(body)


USAGE = {
    "input_tokens": 1040,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 1000},
    "output_tokens": 12480,
    "total_tokens": 13520,
}


def test_metrics_count_images_and_tokens() -> None:
    assert usage_metrics(response(2, USAGE), 2) == {
        "image_output_count": 2,
        "token_input_count": 1040,
        "token_output_count": 12480,
    }
    assert usage_metrics(response(3), 3) == {"image_output_count": 3}


def test_log_says_what_was_made_and_what_it_cost() -> None:
    # 40 x $5 + 1000 x $10 + 12480 x $40 per million tokens = $0.5094
    assert usage_log(response(2, USAGE), model_info("gpt-image-1")) == [
        "OpenAI made 2 images (1536x1024, high, webp).",
        "Tokens: 40 text in, 1000 image in, 12480 out (13520 in all).",
        "Estimated cost: $0.5094 on your OpenAI account (gpt-image-1 per million tokens: "
        "$5.00 text in, $10.00 image in, $40.00 out).",
    ]


def test_mini_is_priced_as_mini() -> None:
    # 50 x $2 + 1000 x $2.50 + 12480 x $8 per million tokens = $0.10244
    assert (
        "Estimated cost: $0.1024"
        in usage_log(response(1, USAGE), model_info("gpt-image-1-mini"))[2]
    )


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        # 40 x text + 1000 x image in + 12480 x out, at each model's price per million
        ("gpt-image-2.5-sunburst", "$0.3826"),  # $5, $8, $30
        ("gpt-image-2.6-flare", "$0.3826"),
        ("gpt-image-2-2026-04-21", "$0.3826"),
        ("gpt-image-1.5", "$0.4076"),  # $5, $8, $32
    ],
)
def test_each_priced_model_is_priced_as_itself(model: str, cost: str) -> None:
    assert usage_log(response(1, USAGE), model_info(model))[2].startswith(
        f"Estimated cost: {cost} on your OpenAI account ({model} per million tokens:"
    )


def test_unknown_price_and_missing_usage_are_said() -> None:
    lines = usage_log(response(1, USAGE), model_info("gpt-image-9"))
    assert lines[0] == "OpenAI made 1 image (1536x1024, high, webp)."
    assert lines[2] == "No price is known here for gpt-image-9, so the cost is not estimated."
    unpublished = usage_log(response(1, USAGE), model_info("chatgpt-image-latest"))[2]
    assert unpublished.startswith("No price is known here for chatgpt-image-latest")
    assert usage_log(response(1), model_info("gpt-image-1"))[1] == (
        "OpenAI reported no token usage, so the cost is unknown."
    )


def answered(usage: object) -> ImagesResponse:
    """Built leniently, as the package builds OpenAI's streamed answer."""
    return ImagesResponse.construct(created=0, data=[], usage=usage)


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        ({"output_tokens": 4160}, "Tokens: 4160 out."),
        (
            {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210},
            "Tokens: 50 in, 4160 out (4210 in all).",
        ),
        (
            {"input_tokens_details": {"image_tokens": 3}, "output_tokens": 10},
            "Tokens: 10 out.",
        ),
        (
            {"output_tokens_details": {"image_tokens": 4160}},
            "Tokens: OpenAI's answer did not say how many.",
        ),
        ("not usage at all", "Tokens: OpenAI's answer did not say how many."),
    ],
)
def test_partial_usage_logs_what_is_known_and_estimates_nothing(usage: object, tokens: str) -> None:
    lines = usage_log(answered(usage), model_info("gpt-image-2"))
    assert lines[1:] == [
        tokens,
        "OpenAI's answer did not report every token count (a gateway may trim it), so the cost "
        "could not be estimated.",
    ]


def test_partial_usage_gives_the_metrics_it_can() -> None:
    assert usage_metrics(answered({"output_tokens": 7}), 1) == {
        "image_output_count": 1,
        "token_output_count": 7,
    }
    assert usage_metrics(answered("junk"), 1) == {"image_output_count": 1}


def test_text_output_without_a_published_price_is_counted_at_the_image_price() -> None:
    usage = {
        **USAGE,
        "output_tokens": 12600,
        "output_tokens_details": {"image_tokens": 12480, "text_tokens": 120},
    }
    # 40 x $2 + 1000 x $2.50 + 12600 x $8 per million tokens = $0.10338
    assert usage_log(response(1, usage), model_info("gpt-image-1-mini"))[1:] == [
        "Tokens: 40 text in, 1000 image in, 12480 image out, 120 text out (13520 in all).",
        "Estimated cost: $0.1034 on your OpenAI account (gpt-image-1-mini per million tokens: "
        "$2.00 text in, $2.50 image in, $8.00 image out, text out at the image price, since "
        "none is published).",
    ]
