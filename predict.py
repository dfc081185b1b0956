"""Replicate's openai/gpt-image-1, bring your own OpenAI key.

The inputs and output are the hosted model's; each prediction is forwarded to
OpenAI's Images API with the caller's key, and the images come back exactly as
OpenAI made them. OpenAI shut gpt-image-1 down on 2026-10-23, so the model behind
the interface is its successor, gpt-image-2.5-sunburst, unless OPENAI_IMAGE_MODEL
names another.
"""

import gc
import os
import tempfile
from datetime import UTC, datetime

import openai
from cog import BasePredictor, Input, Path, Secret

from gpt_image import images_api
from gpt_image.answer import read_answer
from gpt_image.errors import PredictionError, explain_api_error, redact
from gpt_image.inputs import InputImage, prepared_input_images
from gpt_image.memory import memory_released_when_idle
from gpt_image.models import DEFAULT_MODEL, model_info, model_log
from gpt_image.outputs import OutputDirs
from gpt_image.request import ImageOptions, adapt_to_model, check_options
from gpt_image.usage import usage_log, usage_metrics


class Predictor(BasePredictor):
    def setup(self) -> None:
        # One client for every prediction, so connections to OpenAI are pooled.
        self.client = images_api.make_client()
        # The interface is gpt-image-1's; the model behind it is its successor, or
        # whichever OPENAI_IMAGE_MODEL names.
        chosen = os.environ.get("OPENAI_IMAGE_MODEL", "").strip()
        self.model = model_info(chosen or DEFAULT_MODEL)
        self.model_chosen_by = "set by OPENAI_IMAGE_MODEL" if chosen else "the default"
        self.output_dirs = OutputDirs(Path(tempfile.mkdtemp(prefix="gpt-image-outputs-")))
        # What is loaded by now lives as long as the worker. Out of the garbage
        # collector's reach, a full collection no longer holds every prediction's
        # event loop for about 100 ms (docs/performance.md).
        gc.collect()
        gc.freeze()

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
        check_options(options)  # before anything is paid for
        key = images_api.checked_api_key(openai_api_key.get_secret_value())
        today = datetime.now(UTC).date()
        for line in model_log(self.model, today, self.model_chosen_by):
            print(line)
        try:
            # Checked and converted before any request, so a bad file costs nothing;
            # converted images are spooled until the request is over, however it ends.
            async with (
                memory_released_when_idle(),
                prepared_input_images(input_images or []) as images,
            ):
                return await self._create(options, images, key)
        except PredictionError as error:
            raise PredictionError(redact(str(error), key)) from None
        except openai.APIError as error:
            message = explain_api_error(error, self.client, self.model, today)
            raise PredictionError(redact(message, key)) from None
        except Exception as error:  # a bug: still no key in the message, and no traceback
            message = f"Unexpected error ({type(error).__name__}: {error}). Please report it."
            raise PredictionError(redact(message, key)) from None

    async def _create(
        self, options: ImageOptions, images: list[InputImage], key: str
    ) -> list[Path]:
        client = self.client.with_options(api_key=key)
        if images:
            for image in images:
                print(image.summary())
            options, notes = adapt_to_model(options, self.model)
            for note in notes:
                print(note)
            request = images_api.edit(client, options, self.model.name, images)
        else:
            request = images_api.generate(client, options, self.model.name)

        async with request as answer:  # OpenAI said 200; its images are on their way
            response, paths, notes = await read_answer(
                answer, self.output_dirs.new(), options.number_of_images
            )
        for line in [*notes, *usage_log(response, self.model)]:
            print(line)
        # What came back is what the caller gets, and what Replicate bills.
        for name, value in usage_metrics(response, len(paths)).items():
            self.record_metric(name, value)
        return paths
