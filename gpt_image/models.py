"""What each GPT image model accepts and costs, so requests are adapted instead of
refused and each prediction's cost can be estimated."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    """OpenAI's prices in USD per million tokens."""

    text_input: float
    image_input: float
    image_output: float


@dataclass(frozen=True)
class ModelInfo:
    name: str
    # gpt-image-1-mini takes input_fidelity "low" only; OpenAI rejects "high".
    high_input_fidelity: bool = True
    prices: Prices | None = None  # None: not known here


KNOWN_MODELS = {
    info.name: info
    for info in (
        ModelInfo("gpt-image-1", prices=Prices(5.00, 10.00, 40.00)),
        ModelInfo("gpt-image-1-mini", high_input_fidelity=False, prices=Prices(2.00, 2.50, 8.00)),
        ModelInfo("gpt-image-1.5"),
    )
}


def model_info(name: str) -> ModelInfo:
    """The model's entry; a model not listed is assumed to accept everything."""
    return KNOWN_MODELS.get(name, ModelInfo(name))
