"""The logic behind predict.py: map the inputs to an OpenAI Images API call and
turn its response into files."""
