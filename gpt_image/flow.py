"""The flow of a prediction, shared by every interface: check what was asked, choose
the key, adapt the request to the model, send it, read the answer, log and count.

An interface (predict.py, predict_gpt_image_2.py, predict_gpt_image_2_5.py) declares
its inputs, maps them onto ImageOptions and hands them here.
"""

import asyncio
import gc
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import openai
from cog import Path, Secret
from openai import AsyncAPIResponse
from openai.types import ImagesResponse

from gpt_image import images_api
from gpt_image.answer import fetch_answer
from gpt_image.errors import PredictionError, explain_api_error, operator_key_rejected, redact
from gpt_image.inputs import InputImage, prepared_input_images
from gpt_image.memory import memory_released_when_idle
from gpt_image.metrics import Metrics, serve_metrics
from gpt_image.models import model_info, model_log
from gpt_image.outputs import OutputDirs, kept_output_bytes
from gpt_image.request import ImageOptions, adapt_to_model, check_options, check_quality
from gpt_image.settings import setting
from gpt_image.sizes import check_size, size_notes
from gpt_image.usage import estimated_cost, usage_log, usage_metrics

RecordMetric = Callable[[str, int], None]

# The longest a prediction may wait on OpenAI, every attempt and wait included
# (OPENAI_TIMEOUT bounds each read only). With the drain's wait for delivery it fits
# the 600 s Cluster Autoscaler gives a pod on a node it removes (docs/kubernetes.md).
DEFAULT_PREDICTION_TIMEOUT = 540.0

OPERATOR_PAYS = (
    "No openai_api_key was given, so this server's own key (OPENAI_API_KEY) pays for "
    "this prediction."
)


class ImageFlow:
    """What a predictor's setup makes once and every prediction shares."""

    def __init__(self, default_model: str, operator_may_pay: bool) -> None:
        # One client for every prediction, so connections to OpenAI are pooled.
        self.client = images_api.make_client()
        # Never shown to a caller, like the key.
        self.gateway_secrets = images_api.gateway_secrets()
        chosen = os.environ.get("OPENAI_IMAGE_MODEL", "").strip()
        self.model = model_info(chosen or default_model)
        self.model_chosen_by = "set by OPENAI_IMAGE_MODEL" if chosen else "the default"
        # Only an interface whose key is optional lets the container's key pay.
        self.operator_key = images_api.operator_key() if operator_may_pay else None
        self.operator_may_pay = operator_may_pay
        self.output_dirs = OutputDirs(
            Path(tempfile.mkdtemp(prefix="gpt-image-outputs-")), keep_bytes=kept_output_bytes()
        )
        self.prediction_timeout = setting(
            "PREDICTION_TIMEOUT",
            DEFAULT_PREDICTION_TIMEOUT,
            float,
            lambda seconds: seconds > 0,
            "a number of seconds above 0",
        )
        self.metrics = Metrics()
        serve_metrics(self.metrics, cog_port=int(os.environ.get("PORT") or 5000))
        # What is loaded by now lives as long as the worker. Out of the garbage
        # collector's reach, a full collection no longer holds every prediction's
        # event loop for about 100 ms (docs/performance.md).
        gc.collect()
        gc.freeze()

    async def make_images(
        self,
        options: ImageOptions,
        input_images: list[Path],
        api_key: Secret | None,
        record_metric: RecordMetric,
    ) -> list[Path]:
        """One prediction: the images OpenAI made, as files."""
        with self.metrics.prediction():
            # Checked before anything is paid for.
            check_options(options)
            check_size(options.aspect_ratio, self.model)
            check_quality(options.quality, self.model)
            key, operator_pays = images_api.choose_key(
                api_key.get_secret_value() if api_key else None,
                self.operator_key,
                self.operator_may_pay,
            )
            today = datetime.now(UTC).date()
            for line in model_log(self.model, today, self.model_chosen_by):
                print(line)
            if operator_pays:
                print(OPERATOR_PAYS)
            for note in size_notes(options.aspect_ratio, options.background, self.model):
                print(note)
            secrets = (key, *self.gateway_secrets)
            try:
                # Checked and converted before any request, so a bad file costs nothing;
                # converted images are spooled until the request is over, however it ends.
                async with (
                    memory_released_when_idle(),
                    prepared_input_images(input_images) as images,
                ):
                    return await self._create(options, images, key, record_metric)
            except PredictionError as error:
                raise PredictionError(redact(str(error), *secrets)) from None
            except openai.APIError as error:
                if operator_pays and isinstance(error, openai.AuthenticationError):
                    raise PredictionError(operator_key_rejected(self.client.base_url)) from None
                message = explain_api_error(error, self.client, self.model, today)
                raise PredictionError(redact(message, *secrets)) from None
            except Exception as error:  # a bug: still no key in the message, and no traceback
                message = f"Unexpected error ({type(error).__name__}: {error}). Please report it."
                raise PredictionError(redact(message, *secrets)) from None

    async def _create(
        self,
        options: ImageOptions,
        images: list[InputImage],
        key: str,
        record_metric: RecordMetric,
    ) -> list[Path]:
        client = self.client.with_options(api_key=key)
        if images:
            for image in images:
                print(image.summary())
            options, notes = adapt_to_model(options, self.model)
            for note in notes:
                print(note)

        sent = 0

        def send(max_retries: int) -> images_api.Request:
            nonlocal sent
            if sent:  # an answer broke off: the request goes again
                self.metrics.retries.inc()
            sent += 1
            retrying = client.with_options(max_retries=max_retries)
            return self._counted(images_api.request(retrying, options, self.model.name, images))

        started, deadline = time.monotonic(), asyncio.timeout(self.prediction_timeout)
        try:
            async with deadline:
                response, paths, notes = await fetch_answer(
                    send, self.output_dirs.new, options.number_of_images, client.max_retries
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            raise PredictionError(self._timed_out()) from None
        finally:
            self.metrics.request_seconds.observe(time.monotonic() - started)
        for line in [*notes, *usage_log(response, self.model)]:
            print(line)
        # What came back is what the caller gets, and what Replicate bills.
        billed = usage_metrics(response, len(paths))
        for name, value in billed.items():
            record_metric(name, value)
        self.metrics.count_answer(billed, estimated_cost(response, self.model))
        return paths

    @asynccontextmanager
    async def _counted(
        self, request: images_api.Request
    ) -> AsyncIterator[AsyncAPIResponse[ImagesResponse]]:
        """The request, with the retries the SDK took before its answer counted."""
        async with request as answer:
            self.metrics.retries.inc(answer.retries_taken)
            yield answer

    def _timed_out(self) -> str:
        return (
            f"OpenAI did not finish within {self.prediction_timeout:g} seconds "
            "(PREDICTION_TIMEOUT), so the prediction was stopped; OpenAI may still have "
            "made and billed the images. Try again later."
        )
