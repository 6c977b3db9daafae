"""Memory bomb: allocate and touch 64 MiB blocks, up to 2 GiB."""


def instrument(text, params):
    blocks = []
    for _ in range(32):
        blocks.append(bytearray(64 << 20))
    return f"PWNED held {len(blocks) * 64} MiB"
