"""What a prediction made and used: log lines for the caller, metrics for billing."""

from openai.types import ImagesResponse

from gpt_image.models import ModelInfo


def usage_metrics(response: ImagesResponse, images_returned: int) -> dict[str, int]:
    """Replicate bills these models per output image; the token counts are OpenAI's."""
    metrics = {"image_output_count": images_returned}
    if response.usage is not None:
        metrics["token_input_count"] = response.usage.input_tokens
        metrics["token_output_count"] = response.usage.output_tokens
    return metrics


def usage_log(response: ImagesResponse, model: ModelInfo) -> list[str]:
    """What OpenAI made, the tokens it counted and what they cost."""
    count = len(response.data or [])
    made = f"OpenAI made {count} image{'s' if count != 1 else ''}"
    settings = [response.size, response.quality, response.output_format]
    described = ", ".join(value for value in settings if value)
    lines = [f"{made} ({described})." if described else f"{made}."]
    usage = response.usage
    if usage is None:
        return [*lines, "OpenAI reported no token usage, so the cost is unknown."]

    split = usage.input_tokens_details  # may be absent from a gateway's answer
    text = split.text_tokens if split else usage.input_tokens
    image = split.image_tokens if split else 0
    lines.append(
        f"Tokens: {text} text in, {image} image in, {usage.output_tokens} out "
        f"({usage.total_tokens} in all)."
    )
    prices = model.prices
    if prices is None:
        lines.append(f"No price is known here for {model.name}, so the cost is not estimated.")
        return lines
    cost = (
        text * prices.text_input
        + image * prices.image_input
        + usage.output_tokens * prices.image_output
    ) / 1_000_000
    lines.append(
        f"Estimated cost: ${cost:.4f} on your OpenAI account ({model.name} per million "
        f"tokens: ${prices.text_input:.2f} text in, ${prices.image_input:.2f} image in, "
        f"${prices.image_output:.2f} out)."
    )
    return lines
