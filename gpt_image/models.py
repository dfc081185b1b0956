"""What each GPT image model accepts, so requests are adapted instead of refused."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    name: str
    # gpt-image-1-mini takes input_fidelity "low" only; OpenAI rejects "high".
    high_input_fidelity: bool = True


KNOWN_MODELS = {
    info.name: info
    for info in (
        ModelInfo("gpt-image-1"),
        ModelInfo("gpt-image-1-mini", high_input_fidelity=False),
        ModelInfo("gpt-image-1.5"),
    )
}


def model_info(name: str) -> ModelInfo:
    """The model's entry; a model not listed is assumed to accept everything."""
    return KNOWN_MODELS.get(name, ModelInfo(name))
