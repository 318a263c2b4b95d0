-- wrk script for bench/sticktable.sh part 2: every request carries a new
-- `x-client` key, so `http-request track-sc0 req.hdr(x-client) table big`
-- creates one stick-table entry per request.
--   wrk -t2 -c64 -dNs -s fill.lua URL -- QUOTA
-- Thread i sends keys "c<i>-1" .. "c<i>-QUOTA" and then starts over, so the
-- table never holds more than threads x QUOTA keys from this script.
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local quota, n

function init(args)
    quota = tonumber(args[1]) or 1000000
    n = 0
end

function request()
    n = n + 1
    if n > quota then n = 1 end
    return wrk.format(nil, nil, { ["x-client"] = "c" .. tid .. "-" .. n })
end
