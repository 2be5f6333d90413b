"""Drives a running VisionCraft server with the official OpenAI Python SDK.

Started by the Swift test suite (OpenAISDKTests) with the server's base URL, five Free tier
keys (one per phase, so no phase waits out another's rate window) and the name of a chat model
served by an upstream test double. Every check raises on failure;
the last line printed is "sdk checks passed".
"""
import os
import sys

import openai
from openai import OpenAI

base_url = os.environ["VISIONCRAFT_BASE_URL"]
key, stream_key, validation_key, completion_key, completion_stream_key = os.environ["VISIONCRAFT_KEYS"].split(",")
model = os.environ["VISIONCRAFT_MODEL"]
expected = os.environ["VISIONCRAFT_EXPECTED_TEXT"]
# The Free tier's chat window in seconds: long enough that the second request below falls inside it
# even when a loaded machine pauses this process.
window = int(os.environ.get("VISIONCRAFT_RATE_SECONDS", "1"))

# The SDK retries 429s by itself; the test wants to see the first one.
client = OpenAI(api_key=key, base_url=base_url, max_retries=0)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


models = [m.id for m in client.models.list()]
check(model in models, f"{model} not in {models}")

completion = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "Say hello"}], seed=7, stop=["\n\n"]
)
check(completion.choices[0].message.content == expected, completion)
check(completion.choices[0].finish_reason == "stop", completion)
check(completion.usage.completion_tokens > 0, completion.usage)

try:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "again"}])
    raise AssertionError("a second request within the window should be rate limited")
except openai.RateLimitError as error:
    check(error.status_code == 429, error)
    check(f"Free tier keys can make 1 request per {window} second" in error.message, error.message)
    check(1 <= int(error.response.headers.get("retry-after")) <= window, error.response.headers)

# A fresh key, whose rate window is its own.
chunks = list(
    OpenAI(api_key=stream_key, base_url=base_url, max_retries=0).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Stream it"}],
        stream=True,
        stream_options={"include_usage": True},
    )
)
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check(text == expected, text)
check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, chunks[-1])

try:
    OpenAI(api_key=validation_key, base_url=base_url, max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}], temperature=101)
    raise AssertionError("temperature 101 should be refused")
except openai.BadRequestError as error:
    check(error.status_code == 400, error)
    check(error.param == "temperature", error.body)

# The completions API (`client.completions`), whole and streamed.
completion = OpenAI(api_key=completion_key, base_url=base_url, max_retries=0).completions.create(
    model=model, prompt="Once upon a time", max_tokens=128)
check(completion.object == "text_completion", completion)
check(completion.choices[0].text == expected and completion.choices[0].finish_reason == "stop", completion)
check(completion.usage.completion_tokens > 0, completion.usage)
chunks = list(OpenAI(api_key=completion_stream_key, base_url=base_url, max_retries=0).completions.create(
    model=model, prompt="Once upon a time", max_tokens=128, stream=True, stream_options={"include_usage": True}))
check("".join(c.choices[0].text for c in chunks if c.choices) == expected, chunks)
check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0, chunks[-1])

try:
    OpenAI(api_key="vc_not-a-key", base_url=base_url, max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}]
    )
    raise AssertionError("an unknown key should be refused")
except openai.AuthenticationError as error:
    check(error.status_code == 401, error)

print("sdk checks passed")
sys.exit(0)
