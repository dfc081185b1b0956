"""Replicate's openai/gpt-image-2.5-sunburst and openai/gpt-image-2.5-flare, with your
own OpenAI key or the server's.

The inputs and output are the hosted models': gpt-image-2's, with two quality tiers
above high, xhigh and max, which only the GPT Image 2.5 models make. Without the
caller's key, the container's OPENAI_API_KEY pays, if its operator set one. Both builds
run this predictor and differ only in the model behind it: gpt-image-2.5-sunburst
unless OPENAI_IMAGE_MODEL names another, as the flare build's config does. Built with
`cog build -f cog.gpt-image-2.5-sunburst.yaml` or `-f cog.gpt-image-2.5-flare.yaml`.
"""

from cog import BasePredictor, Input, Path, Secret

from gpt_image.flow import ImageFlow
from gpt_image.request import ImageOptions

DEFAULT_MODEL = "gpt-image-2.5-sunburst"


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.flow = ImageFlow(DEFAULT_MODEL, operator_may_pay=True)

    async def predict(
        self,
        openai_api_key: Secret | None = Input(
            description="Your OpenAI API key (optional - without it, the key this server's operator set in OPENAI_API_KEY pays; if there is none, nothing is sent)",
        ),
        prompt: str = Input(description="A text description of the desired image"),
        aspect_ratio: str = Input(
            description="The size of the generated image. Use 'auto' to let the model pick. Sizes above 2560x1440 are experimental and may give more variable results.",
            choices=[
                "1:1",
                "3:2",
                "2:3",
                "16:9",
                "9:16",
                "auto",
                "1024x1024",
                "1536x1024",
                "1024x1536",
                "2048x2048",
                "2048x1152",
                "1152x2048",
                "3840x2160",
                "2160x3840",
            ],
            default="1:1",
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
            choices=["low", "medium", "high", "xhigh", "max", "auto"],
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
            input_fidelity=None,  # not an input: GPT Image 2 models take none
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
