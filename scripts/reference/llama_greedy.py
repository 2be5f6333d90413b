"""What the generation reference scripts share: llama.cpp's greedy continuation of a prompt."""
import numpy as np


def greedy(llm, tokens, steps, eos):
    """Evaluates `tokens` from an empty cache, then picks the most likely token `steps` times (or
    until `eos`): the tokens picked, and the 20 largest logits after the prompt."""
    llm.reset()
    llm.eval(tokens)
    generated, top = [], None
    for step in range(steps):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        if step == 0:
            order = np.argsort(-logits)[:20]
            top = [{"token": int(i), "logit": float(logits[i])} for i in order]
        token = int(np.argmax(logits))
        generated.append(token)
        if token == eos:
            break
        llm.eval([token])
    return generated, top
