# Calls a tiny function N times; prints nanoseconds per call (loop included).
def tiny(x)
  x + 1
end

def run(n)
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
  x = 0
  i = 0
  while i < n
    x = tiny(x)
    i += 1
  end
  raise "bad sum" unless x == n
  Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t0
end

n = Integer(ARGV[0])
puts run(n).fdiv(n)
