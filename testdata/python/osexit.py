import os


@profile
def work():
    data = [bytearray(1000) for _ in range(1000)]
    return len(data)


print("worked", work(), flush=True)
os._exit(0)  # no atexit handlers, well before the tracer's first periodic write
