/// The keyed endpoints that generate: chat, images and GIFs.
extension OpenAPIDocument {
    typealias Chat = ChatCompletionRequest
    typealias Image = ImageGenerationRequest
    typealias GIF = GIFGenerationRequest

    static func generationPaths() -> [String: JSONValue] {
        [
            "/v1/chat/completions": ["post": operation(
                "Chat", "createChatCompletion", "Chat completion",
                "OpenAI's chat completions. With `stream: true` the answer is server-sent events, one "
                    + "`chat.completion.chunk` per `data:` line, ending with `data: [DONE]`.",
                keyed: true,
                body: jsonBody(ref("ChatCompletionRequest"), example: [
                    "model": "SmolLM2-135M-Instruct", "messages": [["role": "user", "content": "Say hello in French."]],
                    "max_tokens": 128, "temperature": 0.7, "stream": false,
                ]),
                responses: errors(keyedErrors).merging(["200": streamable(ref("ChatCompletion"), chunk: "chat.completion.chunk")],
                                                       uniquingKeysWith: { a, _ in a }))],
            "/v1/completions": ["post": operation(
                "Chat", "createCompletion", "Completion (a prompt continued)",
                "OpenAI's completions API: the model continues `prompt` as it is, with no chat template — the way "
                    + "to use base models. The same sampling parameters, limits and usage as chat; with `stream: true`, "
                    + "server-sent `text_completion` events ending with `data: [DONE]`.",
                keyed: true,
                body: jsonBody(ref("CompletionRequest"), example: [
                    "model": "SmolLM2-135M-Instruct", "prompt": "The capital of France is", "max_tokens": 128,
                    "temperature": 0,
                ]),
                responses: errors(keyedErrors).merging(["200": streamable(ref("Completion"), chunk: "text_completion")],
                                                       uniquingKeysWith: { a, _ in a }))],
            "/sd": ["post": operation(
                "Images", "generateImage", "Generate an image",
                "One Stable Diffusion image, answered as PNG bytes; the seed it was drawn with is in `X-Seed`. "
                    + "Fields left out take the model's defaults (`GET /sd/models/{name}`).",
                keyed: true,
                body: jsonBody(imageRequest, example: [
                    "model": "sd-turbo", "prompt": "a lighthouse at dusk, oil painting", "steps": 4,
                    "width": 512, "height": 512, "cfg_scale": 1, "seed": 42,
                ]),
                responses: errors(keyedErrors).merging(["200": media("image/png", "The image.")],
                                                       uniquingKeysWith: { a, _ in a }))],
            "/text2gif": ["post": operation(
                "Images", "generateGIF", "Generate an animated GIF",
                "An AnimateDiff animation, answered as GIF bytes; the seed is in `X-Seed`. Fields left out take "
                    + "the GIF model's defaults (`GET /text2gif/models/{name}`).",
                keyed: true,
                body: jsonBody(gifRequest, example: ["prompt": "waves rolling onto a beach", "frames": 16, "fps": 8]),
                responses: errors(keyedErrors).merging(["200": media("image/gif", "The animation.")],
                                                       uniquingKeysWith: { a, _ in a }))],
        ]
    }

    /// A completion whole, or as server-sent events: each event's `data` a `chunk` object as JSON,
    /// the last one `[DONE]`.
    private static func streamable(_ whole: JSONValue, chunk: String) -> JSONValue {
        let event: JSONValue = ["type": "object", "required": ["data"], "properties": [
            "data": ["type": "string", "description": .string("A \(chunk) as JSON, or [DONE].")],
            "event": ["type": "string"], "id": ["type": "string"],
        ]]
        return ["description": "The completion; an event stream when `stream` is true.",
                "content": ["application/json": ["schema": whole], "text/event-stream": ["schema": event]]]
    }

    private static func media(_ type: String, _ description: String) -> JSONValue {
        ["description": .string(description),
         "headers": ["X-Seed": ["description": "The seed the picture was drawn with.", "schema": ["type": "string"]]],
         "content": [.init(stringLiteral: type): ["schema": ["type": "string", "contentMediaType": .string(type)]]]]
    }

    private static var imageRequest: JSONValue {
        ["type": "object", "required": ["model", "prompt"], "properties": [
            "model": string("An image model (`GET /sd/models`).", required: true),
            "prompt": string("What to draw.", required: true),
            "negative_prompt": string("What not to draw."),
            "sampler": string("A sampler the model offers (`GET /sd/samplers`); the model's default when absent."),
            "steps": integer(Image.stepsRange, "Denoising steps; the model's default when absent (35 by contract)."),
            "width": integer(Image.sizeRange, "Pixels; the model's default when absent (1024 by contract)."),
            "height": integer(Image.sizeRange, "Pixels; the model's default when absent (1024 by contract)."),
            "cfg_scale": integer(Image.cfgScaleRange, "Guidance scale; the model's default when absent (7 by contract)."),
            "loras": [
                "type": ["object", "null"], "maxProperties": .integer(Int64(Image.maxLoRAs)),
                "description": "LoRA name (`GET /sd/loras`) → weight.",
                "additionalProperties": ["type": "number", "minimum": .number(LoRAWeight.weightRange.lowerBound),
                                         "maximum": .number(LoRAWeight.weightRange.upperBound)],
            ],
            "seed": seed, "token": token,
        ]]
    }

    private static var gifRequest: JSONValue {
        ["type": "object", "required": ["prompt"], "properties": [
            "prompt": string("What to animate.", required: true),
            "model": string("A GIF model (`GET /text2gif/models`); the first one when absent."),
            "negative_prompt": string("What not to draw."),
            "frames": integer(GIF.framesRange, default: 16, "Frames of the animation."),
            "fps": integer(GIF.fpsRange, default: 8, "Frames per second."),
            "width": integer(GIF.sizeRange, "Pixels; the model's default when absent."),
            "height": integer(GIF.sizeRange, "Pixels; the model's default when absent."),
            "steps": integer(GIF.stepsRange, "Denoising steps; the model's default when absent."),
            "cfg_scale": integer(Image.cfgScaleRange, "Guidance scale; the model's default when absent."),
            "sampler": string("A sampler; the model's default when absent."),
            "seed": seed, "token": token,
        ]]
    }

    /// What chat and completions requests share: everything but the input.
    private static var samplingProperties: [String: JSONValue] {
        [
            "model": string("A chat model (`GET /v1/models`).", required: true),
            "max_tokens": integer(Chat.maxTokensRange, default: 512, "Most tokens to generate."),
            "max_completion_tokens": integer(Chat.maxTokensRange, default: 512, "The same as `max_tokens`."),
            "temperature": number(Chat.temperatureRange, default: 0.7, "Sampling temperature; 0 is greedy."),
            "top_p": number(Chat.topPRange, default: 0.9, "Nucleus sampling."),
            "top_k": integer(Chat.topKRange, default: 0, "Top-k sampling; 0 is off."),
            "repetition_penalty": number(Chat.repetitionPenaltyRange, default: 1, "1 is off."),
            "presence_penalty": number(Chat.penaltyRange, default: 0, "OpenAI's presence penalty."),
            "frequency_penalty": number(Chat.penaltyRange, default: 0, "OpenAI's frequency penalty."),
            "stream": ["type": ["boolean", "null"], "default": false, "description": "Answer as server-sent events."],
            "stream_options": [
                "type": ["object", "null"], "description": "Only with `stream: true`.",
                "properties": ["include_usage": ["type": ["boolean", "null"], "default": false]],
            ],
            "stop": [
                "description": "Up to four sequences that end the answer.",
                "anyOf": [["type": "string"], ["type": "null"], [
                    "type": "array", "maxItems": .integer(Int64(Chat.maxStopSequences)), "items": ["type": "string"],
                ]],
            ],
            "seed": seed,
            "n": ["type": ["integer", "null"], "minimum": 1, "maximum": 1, "description": "Only 1 is supported."],
            "token": token,
        ]
    }

    static var chatSchemas: [String: JSONValue] {
        var chat = samplingProperties
        chat["messages"] = ["type": "array", "minItems": 1, "items": ref("ChatMessage")]
        var completion = samplingProperties
        completion["prompt"] = [
            "description": "The text to continue (a list may hold one string).",
            "anyOf": [["type": "string"], ["type": "array", "minItems": 1, "maxItems": 1, "items": ["type": "string"]]],
        ]
        completion["echo"] = ["type": ["boolean", "null"], "enum": [false, .null], "description": "Only false is supported."]
        completion["suffix"] = ["type": ["string", "null"], "maxLength": 0, "description": "Not supported: empty or absent."]
        return [
            "ChatCompletionRequest": ["type": "object", "required": ["model", "messages"], "properties": .object(chat)],
            "CompletionRequest": ["type": "object", "required": ["model", "prompt"], "properties": .object(completion)],
            "Completion": ["type": "object", "required": ["id", "object", "created", "model", "choices"], "properties": [
                "id": ["type": "string"], "object": ["const": "text_completion"], "created": ["type": "integer"],
                "model": ["type": "string"],
                "choices": ["type": "array", "items": ["type": "object", "properties": [
                    "index": ["type": "integer"], "text": ["type": "string"], "finish_reason": ["type": ["string", "null"]],
                ]]],
                "usage": ref("Usage"),
            ]],
            "Usage": ["type": "object", "properties": [
                "prompt_tokens": ["type": "integer"], "completion_tokens": ["type": "integer"],
                "total_tokens": ["type": "integer"],
                "prompt_tokens_details": ["type": "object", "properties": [
                    "cached_tokens": [
                        "type": "integer",
                        "description": "Of the prompt's tokens, those the engine's prefix cache held (the same start as an earlier request's).",
                    ],
                ]],
            ]],
            "ChatMessage": ["type": "object", "required": ["role"], "properties": [
                "role": ["type": "string", "enum": .array(ChatMessage.roles.sorted().map(JSONValue.string))],
                "content": [
                    "description": "Text, or parts (`text`, and `image_url` for vision models). Only an assistant turn may omit it.",
                    "anyOf": [["type": "string"], ["type": "null"], ["type": "array", "items": ref("ContentPart")]],
                ],
                "name": ["description": "The speaker's name (passed on where a backend uses it)."],
            ]],
            "ContentPart": ["oneOf": [
                ["type": "object", "required": ["type", "text"], "properties": [
                    "type": ["const": "text"], "text": ["type": "string"],
                ]],
                ["type": "object", "required": ["type", "image_url"], "properties": [
                    "type": ["const": "image_url"],
                    "image_url": ["anyOf": [
                        ["type": "string", "pattern": "^(data:image/|https?://)"],
                        ["type": "object", "required": ["url"],
                         "properties": ["url": ["type": "string", "pattern": "^(data:image/|https?://)"]]],
                    ]],
                ]],
            ]],
            "ChatCompletion": ["type": "object", "required": ["id", "object", "created", "model", "choices"], "properties": [
                "id": ["type": "string"], "object": ["const": "chat.completion"], "created": ["type": "integer"],
                "model": ["type": "string"],
                "choices": ["type": "array", "items": ["type": "object", "properties": [
                    "index": ["type": "integer"],
                    "message": ["type": "object", "properties": ["role": ["type": "string"], "content": ["type": "string"]]],
                    "finish_reason": ["type": ["string", "null"]],
                ]]],
                "usage": ref("Usage"),
            ]],
        ]
    }
}
