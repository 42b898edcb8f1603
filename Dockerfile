# One image for every StockMind process; the command picks the component.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY cli ./cli
COPY platform ./platform
COPY contracts ./contracts
COPY core ./core
COPY projectors ./projectors
COPY gateways ./gateways
COPY gen ./gen
COPY loadtest ./loadtest
ENV NODE_ENV=production
# /metrics, /healthz and /readyz of the core, relay and projectors (the edge and webhooks use their own port).
EXPOSE 9464
USER node
ENTRYPOINT ["node", "bin/stockmind.mjs"]
