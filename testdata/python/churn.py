import sys
import time

from memory_profiler import profile


@profile
def churn(times):
    chunks = []
    for _ in range(times):
        chunks.append(bytearray(4 << 20))
    chunks = None
    scratch = len(bytes(8 << 20))
    return scratch


@profile
def churn_forever():
    print("churning", flush=True)
    while True:
        buf = bytearray(1 << 20)
        buf = None
        time.sleep(0.002)


if len(sys.argv) > 1 and sys.argv[1] == "forever":
    churn_forever()
print("churned", churn(10))
