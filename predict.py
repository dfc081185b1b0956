"""Replicate's openai/gpt-image-1, bring your own OpenAI key.

The inputs and output are the hosted model's; each prediction is forwarded to
OpenAI's Images API with the caller's key, and the images come back exactly as
OpenAI made them. OpenAI shut gpt-image-1 down on 2026-10-23, so the model behind
the interface is its successor, gpt-image-2.5-sunburst, unless OPENAI_IMAGE_MODEL
names another.
"""

from cog import BasePredictor, Input, Path, Secret

from gpt_image.flow import ImageFlow
from gpt_image.models import DEFAULT_MODEL
from gpt_image.request import ImageOptions


class Predictor(BasePredictor):
    def setup(self) -> None:
        # The interface is gpt-image-1's; the model behind it is its successor, or
        # whichever OPENAI_IMAGE_MODEL names. The caller's key is required.
        self.flow = ImageFlow(DEFAULT_MODEL, operator_may_pay=False)

    async def predict(
        self,
        openai_api_key: Secret = Input(description="Your OpenAI API key"),
        prompt: str = Input(description="A text description of the desired image"),
        aspect_ratio: str = Input(
            description="The aspect ratio of the generated image",
            choices=["1:1", "3:2", "2:3"],
            default="1:1",
        ),
        input_fidelity: str = Input(
            description="Control how much effort the model will exert to match the style and features, especially facial features, of input images",
            choices=["low", "high"],
            default="low",
        ),
        input_images: list[Path] | None = Input(
            description="A list of images to use as input for the generation",
        ),
        number_of_images: int = Input(
            description="Number of images to generate (1-10)",
            default=1,
            ge=1,
            le=10,
        ),
        quality: str = Input(
            description="The quality of the generated image",
            choices=["low", "medium", "high", "auto"],
            default="auto",
        ),
        background: str = Input(
            description="Set whether the background is transparent or opaque or choose automatically",
            choices=["auto", "transparent", "opaque"],
            default="auto",
        ),
        output_compression: int = Input(
            description="Compression level (0-100%)",
            default=90,
            ge=0,
            le=100,
        ),
        output_format: str = Input(
            description="Output format",
            choices=["png", "jpeg", "webp"],
            default="webp",
        ),
        moderation: str = Input(
            description="Content moderation level",
            choices=["auto", "low"],
            default="auto",
        ),
        user_id: str | None = Input(
            description="An optional unique identifier representing your end-user. This helps OpenAI monitor and detect abuse.",
        ),
    ) -> list[Path]:
        options = ImageOptions(
            prompt=prompt,
            aspect_ratio=aspect_ratio,
            input_fidelity=input_fidelity,
            number_of_images=number_of_images,
            quality=quality,
            background=background,
            output_compression=output_compression,
            output_format=output_format,
            moderation=moderation,
            user_id=user_id,
        )
        return await self.flow.make_images(
            options, input_images or [], openai_api_key, self.record_metric
        )
