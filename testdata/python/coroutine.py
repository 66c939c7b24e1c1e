import asyncio

from memory_profiler import profile


@profile
async def fetch(n):
    data = []
    for i in range(n):
        await asyncio.sleep(0)
        data.append([i] * 100)
    return len(data)


async def main():
    results = await asyncio.gather(fetch(3), fetch(2))
    print("fetched", results)


asyncio.run(main())
