"""The model's interface with nothing behind it: predict() takes the same inputs,
prepared by cog the same way, and returns no images. The benchmark runs it to tell
cog's own memory per prediction (reading inputs, data URIs above all) from the
package's."""

import functools

from cog import Path

from predict import Predictor as Model


class Predictor(Model):
    def setup(self) -> None:
        pass

    @functools.wraps(Model.predict)  # the same signature, so cog prepares the same inputs
    async def predict(self, **inputs: object) -> list[Path]:  # type: ignore[override]
        return []
