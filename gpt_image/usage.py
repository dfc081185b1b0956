"""What a prediction made and used: log lines for the caller, metrics for billing.

OpenAI's answer reports its token usage (openai-python 3.54 `images_response.py`:
`usage.input_tokens_details` splits the input into text and image tokens, and
`output_tokens_details`, where present, splits the output). Gateways sometimes trim
it, so every count may be missing: what is known is logged, and the cost is
estimated only from a complete count.
"""

from dataclasses import dataclass

from openai.types import ImagesResponse

from gpt_image.models import ModelInfo, Prices


@dataclass(frozen=True)
class Tokens:
    """The token counts of one answer; None where the answer did not say."""

    text_in: int | None
    image_in: int | None
    input: int | None  # all input tokens
    output: int | None  # all output tokens
    image_out: int | None  # of the output, images
    text_out: int | None  # of the output, text (0 when the answer has no split)
    total: int | None


def token_counts(response: ImagesResponse) -> Tokens | None:
    """The counts OpenAI reported, or None when it reported no usage at all."""
    usage = response.usage
    if usage is None:
        return None
    details_in = getattr(usage, "input_tokens_details", None)
    details_out = getattr(usage, "output_tokens_details", None)
    output = _count(usage, "output_tokens")
    if details_out is None:
        # Without a split of the output, all of it is image tokens, as for gpt-image-1.
        image_out, text_out = output, 0
    else:
        image_out = _count(details_out, "image_tokens")
        text_out = _count(details_out, "text_tokens")
        # Where a gateway trimmed one count, the other two give it.
        if image_out is None and output is not None and text_out is not None:
            image_out = output - text_out
        if output is None and image_out is not None and text_out is not None:
            output = image_out + text_out
    return Tokens(
        text_in=_count(details_in, "text_tokens"),
        image_in=_count(details_in, "image_tokens"),
        input=_count(usage, "input_tokens"),
        output=output,
        image_out=image_out,
        text_out=text_out,
        total=_count(usage, "total_tokens"),
    )


def usage_metrics(response: ImagesResponse, images_returned: int) -> dict[str, int]:
    """Replicate bills these models per output image; the token counts are OpenAI's."""
    metrics = {"image_output_count": images_returned}
    tokens = token_counts(response)
    if tokens is not None and tokens.input is not None:
        metrics["token_input_count"] = tokens.input
    if tokens is not None and tokens.output is not None:
        metrics["token_output_count"] = tokens.output
    return metrics


def estimated_cost(response: ImagesResponse, model: ModelInfo) -> float | None:
    """USD, or None when the model's prices are unknown or the answer did not report
    every count the estimate needs."""
    tokens = token_counts(response)
    if tokens is None or model.prices is None:
        return None
    return _cost(tokens, model.prices)


def usage_log(response: ImagesResponse, model: ModelInfo) -> list[str]:
    """What OpenAI made, the tokens it counted and what they cost."""
    count = len(response.data or [])
    made = f"OpenAI made {count} image{'s' if count != 1 else ''}"
    settings = [response.size, response.quality, response.output_format]
    described = ", ".join(value for value in settings if isinstance(value, str) and value)
    lines = [f"{made} ({described})." if described else f"{made}."]
    tokens = token_counts(response)
    if tokens is None:
        return [*lines, "OpenAI reported no token usage, so the cost is unknown."]
    lines.append(_tokens_line(tokens))
    if model.prices is None:
        lines.append(f"No price is known here for {model.name}, so the cost is not estimated.")
        return lines
    cost = _cost(tokens, model.prices)
    if cost is None:
        lines.append(
            "OpenAI's answer did not report every token count (a gateway may trim it), "
            "so the cost could not be estimated."
        )
        return lines
    lines.append(
        f"Estimated cost: ${cost:.4f} on your OpenAI account ({model.name} per million "
        f"tokens: {_price_list(model.prices, tokens)})."
    )
    return lines


def _count(source: object, name: str) -> int | None:
    value = getattr(source, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tokens_line(tokens: Tokens) -> str:
    parts = []
    if tokens.text_in is not None and tokens.image_in is not None:
        parts += [f"{tokens.text_in} text in", f"{tokens.image_in} image in"]
    elif tokens.input is not None:
        parts.append(f"{tokens.input} in")
    if tokens.text_out:  # reported, and not zero
        if tokens.image_out is not None:
            parts.append(f"{tokens.image_out} image out")
        parts.append(f"{tokens.text_out} text out")
    elif tokens.output is not None:
        parts.append(f"{tokens.output} out")
    if not parts:
        return "Tokens: OpenAI's answer did not say how many."
    total = f" ({tokens.total} in all)" if tokens.total is not None else ""
    return f"Tokens: {', '.join(parts)}{total}."


def _cost(tokens: Tokens, prices: Prices) -> float | None:
    """USD, or None when a count it needs is missing."""
    text_in, image_in, image_out, text_out = (
        tokens.text_in,
        tokens.image_in,
        tokens.image_out,
        tokens.text_out,
    )
    if text_in is None or image_in is None or image_out is None or text_out is None:
        return None
    text_out_price = prices.image_output if prices.text_output is None else prices.text_output
    return (
        text_in * prices.text_input
        + image_in * prices.image_input
        + image_out * prices.image_output
        + text_out * text_out_price
    ) / 1_000_000


def _price_list(prices: Prices, tokens: Tokens) -> str:
    listed = f"${prices.text_input:.2f} text in, ${prices.image_input:.2f} image in, "
    if not tokens.text_out:
        return listed + f"${prices.image_output:.2f} out"
    if prices.text_output is None:
        text_out = "text out at the image price, since none is published"
    else:
        text_out = f"${prices.text_output:.2f} text out"
    return listed + f"${prices.image_output:.2f} image out, {text_out}"
