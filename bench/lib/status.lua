-- wrk script: count responses per HTTP status across all threads and print
-- them after the run as "status CODE COUNT" lines (used by bench/fastcgi.sh).
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    codes = {}
end

function response(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("codes")) do
            total[k] = (total[k] or 0) + v
        end
    end
    for k, v in pairs(total) do
        io.write(string.format("status %d %d\n", k, v))
    end
end
